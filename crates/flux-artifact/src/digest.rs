//! Content digests in the OCI string form `<algorithm>:<hex>` (as `opencontainers/go-digest`
//! and Flux's `artifact/digest` package use them).
//!
//! Supported algorithms: `sha256` (the canonical one), `sha384`, `sha512`, `blake3` and
//! `sha1` (registered by Flux for Git commit hashes).

use std::fmt;
use std::io::{self, Read, Write};
use std::str::FromStr;

use sha2::Digest as _;

/// A digest algorithm Flux accepts (`--artifact-digest-algo`, the prefix of a digest string).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Algorithm {
    /// SHA-1, 40 hex characters. Used for Git commit hashes.
    Sha1,
    /// SHA-256, 64 hex characters. The canonical algorithm.
    #[default]
    Sha256,
    /// SHA-384, 96 hex characters.
    Sha384,
    /// SHA-512, 128 hex characters.
    Sha512,
    /// BLAKE3 (256-bit output), 64 hex characters.
    Blake3,
}

impl Algorithm {
    /// Every supported algorithm.
    pub const ALL: [Algorithm; 5] = [
        Algorithm::Sha1,
        Algorithm::Sha256,
        Algorithm::Sha384,
        Algorithm::Sha512,
        Algorithm::Blake3,
    ];

    /// The canonical algorithm (`sha256`).
    pub const CANONICAL: Algorithm = Algorithm::Sha256;

    /// The name used in digest strings.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha384 => "sha384",
            Algorithm::Sha512 => "sha512",
            Algorithm::Blake3 => "blake3",
        }
    }

    /// Length of the hex encoding of a digest of this algorithm.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha1 => 40,
            Algorithm::Sha256 | Algorithm::Blake3 => 64,
            Algorithm::Sha384 => 96,
            Algorithm::Sha512 => 128,
        }
    }

    /// A fresh incremental hasher for this algorithm.
    pub fn digester(self) -> Digester {
        let state = match self {
            Algorithm::Sha1 => HasherState::Sha1(sha1::Sha1::new()),
            Algorithm::Sha256 => HasherState::Sha256(sha2::Sha256::new()),
            Algorithm::Sha384 => HasherState::Sha384(sha2::Sha384::new()),
            Algorithm::Sha512 => HasherState::Sha512(sha2::Sha512::new()),
            Algorithm::Blake3 => HasherState::Blake3(Box::new(blake3::Hasher::new())),
        };
        Digester { state }
    }

    /// Digest of a byte slice.
    pub fn digest_bytes(self, bytes: &[u8]) -> Digest {
        let mut d = self.digester();
        d.update(bytes);
        d.finish()
    }

    /// Digest of everything a reader yields.
    pub fn digest_reader<R: Read>(self, mut reader: R) -> io::Result<Digest> {
        let mut d = self.digester();
        io::copy(&mut reader, &mut d)?;
        Ok(d.finish())
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| DigestError::UnsupportedAlgorithm {
                algorithm: s.to_string(),
            })
    }
}

/// Errors parsing or verifying digests.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    /// The string has no `<algorithm>:` prefix.
    #[error("invalid digest {input:?}: missing '<algorithm>:' prefix")]
    MissingAlgorithm { input: String },
    /// The algorithm part does not follow go-digest's grammar.
    #[error("invalid digest {input:?}: malformed algorithm {algorithm:?}")]
    MalformedAlgorithm { input: String, algorithm: String },
    /// The algorithm is well formed but not one Flux supports.
    #[error("unsupported digest algorithm: {algorithm}")]
    UnsupportedAlgorithm { algorithm: String },
    /// The encoded part has the wrong length or non-lowercase-hex characters.
    #[error("invalid digest {input:?}: {algorithm} needs {expected_len} lowercase hex characters")]
    InvalidEncoding {
        input: String,
        algorithm: Algorithm,
        expected_len: usize,
    },
    /// Reading the content to hash failed.
    #[error("reading content to compute {algorithm} digest")]
    Read {
        algorithm: Algorithm,
        #[source]
        source: io::Error,
    },
    /// The content hashes to a different value.
    #[error("computed digest {actual} doesn't match '{expected}'")]
    Mismatch { expected: Digest, actual: Digest },
}

/// A parsed, validated digest: `<algorithm>:<lowercase hex>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

impl Digest {
    /// Builds a digest from an algorithm and its hex encoding, validating the encoding.
    pub fn new(algorithm: Algorithm, hex: &str) -> Result<Self, DigestError> {
        validate_hex(algorithm, hex, &format!("{algorithm}:{hex}"))?;
        Ok(Digest {
            algorithm,
            hex: hex.to_string(),
        })
    }

    /// Parses `<algorithm>:<hex>` with go-digest's rules (lowercase hex of the exact length).
    pub fn parse(input: &str) -> Result<Self, DigestError> {
        let Some((algo, hex)) = input.split_once(':') else {
            return Err(DigestError::MissingAlgorithm {
                input: input.to_string(),
            });
        };
        if !is_valid_algorithm_name(algo) {
            return Err(DigestError::MalformedAlgorithm {
                input: input.to_string(),
                algorithm: algo.to_string(),
            });
        }
        let algorithm: Algorithm = algo.parse()?;
        validate_hex(algorithm, hex, input)?;
        Ok(Digest {
            algorithm,
            hex: hex.to_string(),
        })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The lowercase hex encoding (without the algorithm prefix).
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// Hashes a reader with this digest's algorithm and checks the result.
    pub fn verify_reader<R: Read>(&self, reader: R) -> Result<(), DigestError> {
        let actual = self
            .algorithm
            .digest_reader(reader)
            .map_err(|source| DigestError::Read {
                algorithm: self.algorithm,
                source,
            })?;
        self.check(actual)
    }

    /// Hashes bytes with this digest's algorithm and checks the result.
    pub fn verify_bytes(&self, bytes: &[u8]) -> Result<(), DigestError> {
        self.check(self.algorithm.digest_bytes(bytes))
    }

    /// Compares a computed digest with this (expected) one.
    pub fn check(&self, actual: Digest) -> Result<(), DigestError> {
        if actual == *self {
            Ok(())
        } else {
            Err(DigestError::Mismatch {
                expected: self.clone(),
                actual,
            })
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.hex)
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

/// go-digest's algorithm grammar: `[a-z0-9]+([+._-][a-z0-9]+)*`.
fn is_valid_algorithm_name(s: &str) -> bool {
    let mut prev_sep = true;
    for c in s.chars() {
        match c {
            'a'..='z' | '0'..='9' => prev_sep = false,
            '+' | '.' | '_' | '-' => {
                if prev_sep {
                    return false;
                }
                prev_sep = true;
            }
            _ => return false,
        }
    }
    !prev_sep
}

fn validate_hex(algorithm: Algorithm, hex: &str, input: &str) -> Result<(), DigestError> {
    let ok = hex.len() == algorithm.hex_len()
        && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if ok {
        Ok(())
    } else {
        Err(DigestError::InvalidEncoding {
            input: input.to_string(),
            algorithm,
            expected_len: algorithm.hex_len(),
        })
    }
}

enum HasherState {
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
    Blake3(Box<blake3::Hasher>),
}

/// An incremental hasher; also an [`io::Write`] sink.
pub struct Digester {
    state: HasherState,
}

impl Digester {
    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        match &mut self.state {
            HasherState::Sha1(h) => h.update(bytes),
            HasherState::Sha256(h) => h.update(bytes),
            HasherState::Sha384(h) => h.update(bytes),
            HasherState::Sha512(h) => h.update(bytes),
            HasherState::Blake3(h) => {
                h.update(bytes);
            }
        }
    }

    /// The algorithm this digester computes.
    pub fn algorithm(&self) -> Algorithm {
        match self.state {
            HasherState::Sha1(_) => Algorithm::Sha1,
            HasherState::Sha256(_) => Algorithm::Sha256,
            HasherState::Sha384(_) => Algorithm::Sha384,
            HasherState::Sha512(_) => Algorithm::Sha512,
            HasherState::Blake3(_) => Algorithm::Blake3,
        }
    }

    /// Finishes and returns the digest.
    pub fn finish(self) -> Digest {
        let algorithm = self.algorithm();
        let hex = match self.state {
            HasherState::Sha1(h) => to_hex(&h.finalize()),
            HasherState::Sha256(h) => to_hex(&h.finalize()),
            HasherState::Sha384(h) => to_hex(&h.finalize()),
            HasherState::Sha512(h) => to_hex(&h.finalize()),
            HasherState::Blake3(h) => to_hex(h.finalize().as_bytes()),
        };
        Digest { algorithm, hex }
    }
}

impl Write for Digester {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A writer that forwards to an inner writer while hashing and counting what passes through.
pub struct DigestWriter<W> {
    inner: W,
    digester: Digester,
    written: u64,
}

impl<W: Write> DigestWriter<W> {
    /// Wraps `inner`, hashing with `algorithm`.
    pub fn new(inner: W, algorithm: Algorithm) -> Self {
        DigestWriter {
            inner,
            digester: algorithm.digester(),
            written: 0,
        }
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Returns the inner writer, the digest and the byte count.
    pub fn finish(self) -> (W, Digest, u64) {
        (self.inner, self.digester.finish(), self.written)
    }
}

impl<W: Write> Write for DigestWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        let done = buf.get(..n).unwrap_or(buf);
        self.digester.update(done);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex encoding.
pub fn to_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(HEX_DIGITS[usize::from(b >> 4)]));
        s.push(char::from(HEX_DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        assert_eq!(
            Algorithm::Sha256.digest_bytes(b"abc").to_string(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            Algorithm::Sha1.digest_bytes(b"abc").to_string(),
            "sha1:a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            Algorithm::Blake3.digest_bytes(b"").to_string(),
            "blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
        assert_eq!(Algorithm::Sha384.digest_bytes(b"").hex().len(), 96);
        assert_eq!(Algorithm::Sha512.digest_bytes(b"").hex().len(), 128);
    }

    #[test]
    fn parse_round_trip_and_errors() {
        for a in Algorithm::ALL {
            let d = a.digest_bytes(b"x");
            assert_eq!(Digest::parse(&d.to_string()).ok(), Some(d));
        }
        assert!(matches!(
            Digest::parse("abc"),
            Err(DigestError::MissingAlgorithm { .. })
        ));
        assert!(matches!(
            Digest::parse("md5:abc"),
            Err(DigestError::UnsupportedAlgorithm { .. })
        ));
        assert!(matches!(
            Digest::parse("SHA256:abc"),
            Err(DigestError::MalformedAlgorithm { .. })
        ));
        let upper = format!("sha256:{}", "A".repeat(64));
        assert!(matches!(
            Digest::parse(&upper),
            Err(DigestError::InvalidEncoding { .. })
        ));
        assert!(matches!(
            Digest::parse("sha256:abcd"),
            Err(DigestError::InvalidEncoding {
                expected_len: 64,
                ..
            })
        ));
    }

    #[test]
    fn verify_detects_mismatch() {
        let d = Algorithm::Sha512.digest_bytes(b"hello");
        assert!(d.verify_bytes(b"hello").is_ok());
        assert!(d.verify_reader(&b"hello"[..]).is_ok());
        let err = d.verify_bytes(b"hellO");
        assert!(matches!(err, Err(DigestError::Mismatch { .. })));
    }

    #[test]
    fn digest_writer_counts_and_hashes() -> Result<(), Box<dyn std::error::Error>> {
        let mut w = DigestWriter::new(Vec::new(), Algorithm::Sha256);
        w.write_all(b"ab")?;
        w.write_all(b"c")?;
        let (out, d, n) = w.finish();
        assert_eq!(out, b"abc");
        assert_eq!(n, 3);
        assert_eq!(d, Algorithm::Sha256.digest_bytes(b"abc"));
        Ok(())
    }
}
