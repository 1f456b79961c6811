//! Signature verification of Git commits and tags (`spec.verify`), in process:
//! OpenPGP signatures with the `pgp` crate against the verification secret's key rings
//! (`*.asc` keys, and any key without the `.sshpub` suffix, as upstream), SSH signatures
//! (`sshsig`, namespace `git`) with the `ssh-key` crate against its `*.sshpub`
//! authorized-keys lists.
//!
//! Messages follow Flux's `pkg/git/signature`: `unable to verify Git commit: unable to
//! verify payload with any of the given key rings: no matching key`, `PGP signature
//! detected but no PGP public keys found in secret (keys with .asc suffix)`, …

use std::collections::BTreeMap;

use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey};
use pgp::types::KeyDetails;

/// Secret data key suffix of OpenPGP key rings.
pub const PGP_KEY_SUFFIX: &str = ".asc";
/// Secret data key suffix of SSH authorized-keys lists.
pub const SSH_KEY_SUFFIX: &str = ".sshpub";
/// The sshsig namespace git signs with.
pub const SSH_NAMESPACE: &str = "git";

const PGP_ARMOR: &str = "-----BEGIN PGP SIGNATURE-----";
const SSH_ARMOR: &str = "-----BEGIN SSH SIGNATURE-----";
const X509_ARMOR: &str = "-----BEGIN SIGNED MESSAGE-----";

/// The kind of Git object whose signature is checked (it names the object in messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// A commit.
    Commit,
    /// An annotated tag object.
    Tag,
}

impl ObjectKind {
    fn noun(self) -> &'static str {
        match self {
            ObjectKind::Commit => "commit",
            ObjectKind::Tag => "tag",
        }
    }
}

/// The signature format of an armored signature, as upstream names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureType {
    /// `-----BEGIN PGP SIGNATURE-----`
    OpenPgp,
    /// `-----BEGIN SSH SIGNATURE-----`
    Ssh,
    /// `-----BEGIN SIGNED MESSAGE-----` (gpgsm; not verifiable here or upstream)
    X509,
    /// No signature at all.
    Empty,
    /// Anything else.
    Unknown,
}

impl SignatureType {
    /// Detects the format from the armor header.
    pub fn of(signature: &str) -> Self {
        let trimmed = signature.trim();
        if signature.is_empty() {
            SignatureType::Empty
        } else if trimmed.starts_with(PGP_ARMOR) {
            SignatureType::OpenPgp
        } else if trimmed.starts_with(SSH_ARMOR) {
            SignatureType::Ssh
        } else if trimmed.starts_with(X509_ARMOR) {
            SignatureType::X509
        } else {
            SignatureType::Unknown
        }
    }

    /// Upstream's name (`openpgp`, `ssh`, `x509`, `empty`, `unknown`).
    pub fn name(self) -> &'static str {
        match self {
            SignatureType::OpenPgp => "openpgp",
            SignatureType::Ssh => "ssh",
            SignatureType::X509 => "x509",
            SignatureType::Empty => "empty",
            SignatureType::Unknown => "unknown",
        }
    }
}

/// The trusted keys of a verification secret, split by suffix as upstream does:
/// `*.sshpub` values are SSH authorized-keys lists, everything else (`*.asc` and keys
/// with no known suffix) is an armored OpenPGP key ring.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedKeys {
    /// Armored OpenPGP key rings, one per secret entry (name, text).
    pub key_rings: Vec<(String, String)>,
    /// SSH authorized-keys lists, one per secret entry (name, text).
    pub authorized_keys: Vec<(String, String)>,
}

impl TrustedKeys {
    /// Splits a secret's data (values that are not UTF-8 are read lossily; they then
    /// fail to parse like any malformed key).
    pub fn from_secret_data(data: &BTreeMap<String, Vec<u8>>) -> Self {
        let mut keys = TrustedKeys::default();
        for (name, value) in data {
            let text = String::from_utf8_lossy(value).into_owned();
            if name.ends_with(SSH_KEY_SUFFIX) {
                keys.authorized_keys.push((name.clone(), text));
            } else {
                keys.key_rings.push((name.clone(), text));
            }
        }
        keys
    }
}

/// Why a signature did not verify. The `Display` texts are upstream's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The object carries no signature, or one in a format that cannot be verified.
    #[error("unsupported signature type: {}", kind.name())]
    UnsupportedType { kind: SignatureType },
    /// An OpenPGP signature, but the secret has no OpenPGP keys.
    #[error(
        "PGP signature detected but no PGP public keys found in secret (keys with {PGP_KEY_SUFFIX} suffix)"
    )]
    NoPgpKeys,
    /// An SSH signature, but the secret has no `*.sshpub` keys.
    #[error(
        "SSH signature detected but no SSH public keys found in secret (keys with {SSH_KEY_SUFFIX} suffix)"
    )]
    NoSshKeys,
    /// The signed payload is empty.
    #[error("unable to verify Git {}: unable to verify payload: payload is empty", object.noun())]
    EmptyPayload { object: ObjectKind },
    /// The armored OpenPGP signature could not be read.
    #[error("unable to verify Git {}: unable to read signature: {detail}", object.noun())]
    PgpSignature { object: ObjectKind, detail: String },
    /// None of the secret's key rings could be read.
    #[error("unable to verify Git {}: unable to read armored key ring '{key}': {detail}", object.noun())]
    PgpKeyRing {
        object: ObjectKind,
        key: String,
        detail: String,
    },
    /// No OpenPGP key of the secret made the signature.
    #[error(
        "unable to verify Git {}: unable to verify payload with any of the given key rings: no matching key",
        object.noun()
    )]
    PgpNoMatch { object: ObjectKind },
    /// The armored SSH signature could not be read.
    #[error("unable to verify Git {} SSH signature: unable to unarmor SSH signature: {detail}", object.noun())]
    SshSignature { object: ObjectKind, detail: String },
    /// None of the secret's authorized-keys lists could be read.
    #[error(
        "unable to verify Git {} SSH signature: unable to parse authorized keys '{key}': unable to parse authorized key: {detail}",
        object.noun()
    )]
    SshAuthorizedKeys {
        object: ObjectKind,
        key: String,
        detail: String,
    },
    /// No SSH key of the secret made the signature.
    #[error(
        "unable to verify Git {} SSH signature: unable to verify payload with any of the given authorized keys: no matching key",
        object.noun()
    )]
    SshNoMatch { object: ObjectKind },
}

/// Verifies `signature` (armored, as stored in the commit's `gpgsig` header or at the
/// end of a tag) over `payload` with `keys`. Returns the signer: the primary key ID of
/// the OpenPGP key (16 upper-case hex digits) or the SHA-256 fingerprint of the SSH
/// key (`SHA256:…`).
pub fn verify_signature(
    object: ObjectKind,
    signature: &str,
    payload: &[u8],
    keys: &TrustedKeys,
) -> Result<String, VerifyError> {
    match SignatureType::of(signature) {
        SignatureType::OpenPgp => {
            if keys.key_rings.is_empty() {
                return Err(VerifyError::NoPgpKeys);
            }
            verify_pgp(object, signature, payload, &keys.key_rings)
        }
        SignatureType::Ssh => {
            if keys.authorized_keys.is_empty() {
                return Err(VerifyError::NoSshKeys);
            }
            verify_ssh(object, signature, payload, &keys.authorized_keys)
        }
        kind => Err(VerifyError::UnsupportedType { kind }),
    }
}

/// OpenPGP: the first key (primary, or a subkey with a valid binding) of any key ring
/// that verifies the detached signature wins.
fn verify_pgp(
    object: ObjectKind,
    signature: &str,
    payload: &[u8],
    key_rings: &[(String, String)],
) -> Result<String, VerifyError> {
    if payload.is_empty() {
        return Err(VerifyError::EmptyPayload { object });
    }
    let (sig, _) = DetachedSignature::from_string(signature.trim()).map_err(|e| {
        VerifyError::PgpSignature {
            object,
            detail: e.to_string(),
        }
    })?;
    let mut first_read_error = None;
    let mut attempted = false;
    for (name, ring) in key_rings {
        let keys = match SignedPublicKey::from_string_many(ring) {
            Ok((keys, _)) => keys.collect::<Result<Vec<_>, _>>(),
            Err(e) => Err(e),
        };
        let keys = match keys {
            Ok(k) if !k.is_empty() => k,
            Ok(_) => {
                first_read_error.get_or_insert((name.clone(), "no keys found".to_string()));
                continue;
            }
            Err(e) => {
                first_read_error.get_or_insert((name.clone(), e.to_string()));
                continue;
            }
        };
        attempted = true;
        let now = pgp::types::Timestamp::now().as_secs();
        if expired(
            sig.signature.created(),
            sig.signature.signature_expiration_time(),
            now,
        ) {
            continue;
        }
        for key in keys.iter().filter(|k| primary_is_current(k, now)) {
            if sig.verify(&key.primary_key, payload).is_ok() {
                return Ok(key_id_hex(key));
            }
            for sub in &key.public_subkeys {
                if sub.verify_bindings(&key.primary_key).is_ok()
                    && subkey_is_current(sub, &key.primary_key, now)
                    && sig.verify(&sub.key, payload).is_ok()
                {
                    return Ok(key_id_hex(key));
                }
            }
        }
    }
    match (attempted, first_read_error) {
        (false, Some((key, detail))) => Err(VerifyError::PgpKeyRing {
            object,
            key,
            detail,
        }),
        _ => Err(VerifyError::PgpNoMatch { object }),
    }
}

/// Whether something created at `created` with validity `lifetime` (0 or none: no
/// end) has ended by `now` (seconds since the epoch).
fn expired(
    created: Option<pgp::types::Timestamp>,
    lifetime: Option<pgp::types::Duration>,
    now: u32,
) -> bool {
    let lifetime = lifetime.map_or(0, |d| std::time::Duration::from(d).as_secs());
    match created {
        Some(c) if lifetime > 0 => u64::from(now) > u64::from(c.as_secs()) + lifetime,
        _ => false,
    }
}

/// A primary key can vouch for signatures now (as go-crypto checks at verification
/// time): not revoked by a valid revocation signature, and not expired according to its
/// newest valid self-signature (user ID certification or direct-key signature).
fn primary_is_current(key: &SignedPublicKey, now: u32) -> bool {
    use pgp::types::Tag;
    let primary = &key.primary_key;
    if key
        .details
        .revocation_signatures
        .iter()
        .any(|s| s.verify_key(primary).is_ok())
    {
        return false;
    }
    let certifications = key.details.users.iter().flat_map(|user| {
        user.signatures.iter().filter(move |s| {
            s.verify_certification(primary, Tag::UserId, &user.id)
                .is_ok()
        })
    });
    let direct = key
        .details
        .direct_signatures
        .iter()
        .filter(|s| s.verify_key(primary).is_ok());
    let newest = certifications
        .chain(direct)
        .max_by_key(|s| s.created().map_or(0, |t| t.as_secs()));
    !newest.is_some_and(|s| expired(Some(primary.created_at()), s.key_expiration_time(), now))
}

/// A subkey can sign now: no valid revocation, not expired per its newest binding.
fn subkey_is_current(
    sub: &pgp::composed::SignedPublicSubKey,
    primary: &pgp::packet::PublicKey,
    now: u32,
) -> bool {
    use pgp::packet::SignatureType;
    let valid = |s: &&pgp::packet::Signature| s.verify_subkey_binding(primary, &sub.key).is_ok();
    if sub
        .signatures
        .iter()
        .filter(|s| s.typ() == Some(SignatureType::SubkeyRevocation))
        .any(|s| valid(&s))
    {
        return false;
    }
    let newest = sub
        .signatures
        .iter()
        .filter(|s| s.typ() == Some(SignatureType::SubkeyBinding))
        .filter(valid)
        .max_by_key(|s| s.created().map_or(0, |t| t.as_secs()));
    !newest.is_some_and(|s| expired(Some(sub.key.created_at()), s.key_expiration_time(), now))
}

fn key_id_hex(key: &SignedPublicKey) -> String {
    key.primary_key
        .legacy_key_id()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// SSH: any authorized key that made the `git`-namespace sshsig signature wins.
fn verify_ssh(
    object: ObjectKind,
    signature: &str,
    payload: &[u8],
    authorized_keys: &[(String, String)],
) -> Result<String, VerifyError> {
    if payload.is_empty() {
        return Err(VerifyError::EmptyPayload { object });
    }
    let sig =
        ssh_key::SshSig::from_pem(signature.trim()).map_err(|e| VerifyError::SshSignature {
            object,
            detail: e.to_string(),
        })?;
    let mut first_read_error = None;
    let mut attempted = false;
    for (name, list) in authorized_keys {
        let keys = match parse_authorized_keys(list) {
            Ok(k) => k,
            Err(detail) => {
                first_read_error.get_or_insert((name.clone(), detail));
                continue;
            }
        };
        attempted = true;
        for key in keys {
            if key.verify(SSH_NAMESPACE, payload, &sig).is_ok() {
                return Ok(key.fingerprint(ssh_key::HashAlg::Sha256).to_string());
            }
        }
    }
    match (attempted, first_read_error) {
        (false, Some((key, detail))) => Err(VerifyError::SshAuthorizedKeys {
            object,
            key,
            detail,
        }),
        _ => Err(VerifyError::SshNoMatch { object }),
    }
}

/// The public keys of an authorized-keys text (options allowed; blank lines and `#`
/// comments skipped). One bad line fails the whole list, as upstream.
fn parse_authorized_keys(text: &str) -> Result<Vec<ssh_key::PublicKey>, String> {
    let mut keys = Vec::new();
    for (index, line) in text.lines().map(str::trim).enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let entry: ssh_key::authorized_keys::Entry = line
            .parse()
            .map_err(|e: ssh_key::Error| format!("line {}: {e}", index + 1))?;
        keys.push(entry.public_key().clone());
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(pairs: &[(&str, &str)]) -> TrustedKeys {
        TrustedKeys::from_secret_data(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect(),
        )
    }

    #[test]
    fn detects_signature_types() {
        assert_eq!(SignatureType::of(""), SignatureType::Empty);
        assert_eq!(
            SignatureType::of("\n-----BEGIN PGP SIGNATURE-----\n"),
            SignatureType::OpenPgp
        );
        assert_eq!(
            SignatureType::of("-----BEGIN SSH SIGNATURE-----"),
            SignatureType::Ssh
        );
        assert_eq!(
            SignatureType::of("-----BEGIN SIGNED MESSAGE-----"),
            SignatureType::X509
        );
        assert_eq!(SignatureType::of("garbage"), SignatureType::Unknown);
    }

    #[test]
    fn keys_are_split_by_suffix_as_upstream() {
        let k = keys(&[("a.asc", "x"), ("b.sshpub", "y"), ("legacy", "z")]);
        assert_eq!(k.key_rings.len(), 2);
        assert_eq!(k.authorized_keys.len(), 1);
    }

    #[test]
    fn unsigned_and_foreign_signatures_are_unsupported() {
        let k = keys(&[("a.asc", "x")]);
        let err = verify_signature(ObjectKind::Commit, "", b"data", &k);
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err("unsupported signature type: empty".to_string())
        );
        let err = verify_signature(
            ObjectKind::Commit,
            "-----BEGIN SIGNED MESSAGE-----\nabc\n",
            b"data",
            &k,
        );
        assert_eq!(
            err,
            Err(VerifyError::UnsupportedType {
                kind: SignatureType::X509
            })
        );
    }

    #[test]
    fn missing_key_kinds_are_named() {
        let pgp_sig = "-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n";
        let ssh_sig = "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n";
        let only_ssh = keys(&[("k.sshpub", "ssh-ed25519 AAAA")]);
        let only_pgp = keys(&[("k.asc", "-----BEGIN PGP PUBLIC KEY BLOCK-----")]);
        assert_eq!(
            verify_signature(ObjectKind::Commit, pgp_sig, b"d", &only_ssh),
            Err(VerifyError::NoPgpKeys)
        );
        assert_eq!(
            verify_signature(ObjectKind::Tag, ssh_sig, b"d", &only_pgp)
                .map_err(|e| e.to_string()),
            Err(
                "SSH signature detected but no SSH public keys found in secret (keys with .sshpub suffix)"
                    .to_string()
            )
        );
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let pgp_sig =
            "-----BEGIN PGP SIGNATURE-----\n\nnot base64 !!\n-----END PGP SIGNATURE-----\n";
        let ring = keys(&[("k.asc", "not a key ring")]);
        assert!(matches!(
            verify_signature(ObjectKind::Commit, pgp_sig, b"d", &ring),
            Err(VerifyError::PgpSignature { .. })
        ));
        let ssh_sig = "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n";
        let list = keys(&[("k.sshpub", "ssh-ed25519 AAAA")]);
        assert!(matches!(
            verify_signature(ObjectKind::Commit, ssh_sig, b"d", &list),
            Err(VerifyError::SshSignature { .. })
        ));
        assert!(parse_authorized_keys("# comment\n\nnot-a-key AAAA\n").is_err());
        assert_eq!(
            parse_authorized_keys("# only a comment\n").map(|k| k.len()),
            Ok(0)
        );
    }
}
