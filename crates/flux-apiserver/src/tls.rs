//! TLS material: a generated CA, a serving certificate for localhost, and the admin
//! bearer token. Kept under the data directory so kubeconfigs stay valid across restarts.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::object_meta::new_token;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("generating the {what}: {source}")]
    Generate {
        what: &'static str,
        source: rcgen::Error,
    },
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("parsing the {what} PEM: {source}")]
    Pem {
        what: &'static str,
        source: rustls::pki_types::pem::Error,
    },
    #[error("configuring rustls: {0}")]
    Rustls(#[from] rustls::Error),
}

/// CA, serving certificate and token (all PEM / text).
#[derive(Clone)]
pub struct TlsMaterial {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
    pub token: String,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("ca_pem", &self.ca_pem)
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"<redacted>")
            .field("token", &"<redacted>")
            .finish()
    }
}

const FILES: [&str; 4] = ["ca.crt", "server.crt", "server.key", "token"];

/// Write a file readable only by its owner.
pub fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

impl TlsMaterial {
    /// Fresh material (CA, a serving cert for localhost/127.0.0.1/::1, token).
    pub fn generate() -> Result<Self, TlsError> {
        let gen_err = |what| move |source| TlsError::Generate { what, source };
        let ca_key = KeyPair::generate().map_err(gen_err("CA key"))?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(gen_err("CA"))?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "flux-apiserver-ca");
        ca_params.distinguished_name = dn;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        ca_params.not_before = rcgen::date_time_ymd(2025, 1, 1);
        ca_params.not_after = rcgen::date_time_ymd(2125, 1, 1);
        let ca_cert = ca_params
            .self_signed(&ca_key)
            .map_err(gen_err("CA certificate"))?;
        let issuer = Issuer::new(ca_params, ca_key);

        let key = KeyPair::generate().map_err(gen_err("serving key"))?;
        let mut params = CertificateParams::new(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
            "kubernetes".to_string(),
            "kubernetes.default.svc".to_string(),
        ])
        .map_err(gen_err("serving certificate"))?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "flux-apiserver");
        params.distinguished_name = dn;
        params.not_before = rcgen::date_time_ymd(2025, 1, 1);
        params.not_after = rcgen::date_time_ymd(2125, 1, 1);
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params
            .signed_by(&key, &issuer)
            .map_err(gen_err("serving certificate"))?;
        Ok(Self {
            ca_pem: ca_cert.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            token: new_token(),
        })
    }

    /// Reuse the material under `dir`, or generate and store it.
    pub fn load_or_create(dir: &Path) -> Result<Self, TlsError> {
        let path = |f: &str| dir.join(f);
        if FILES.iter().all(|f| path(f).exists()) {
            let read = |f: &str| {
                std::fs::read_to_string(path(f)).map_err(|source| TlsError::Read {
                    path: path(f),
                    source,
                })
            };
            return Ok(Self {
                ca_pem: read("ca.crt")?,
                cert_pem: read("server.crt")?,
                key_pem: read("server.key")?,
                token: read("token")?.trim().to_string(),
            });
        }
        std::fs::create_dir_all(dir).map_err(|source| TlsError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        let material = Self::generate()?;
        for (file, data) in FILES.iter().zip([
            &material.ca_pem,
            &material.cert_pem,
            &material.key_pem,
            &material.token,
        ]) {
            write_private(&path(file), data.as_bytes()).map_err(|source| TlsError::Write {
                path: path(file),
                source,
            })?;
        }
        Ok(material)
    }

    /// A TLS acceptor offering h2 and http/1.1 (ring provider only).
    pub fn acceptor(&self) -> Result<TlsAcceptor, TlsError> {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(self.cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|source| TlsError::Pem {
                    what: "serving certificate",
                    source,
                })?;
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).map_err(|source| {
            TlsError::Pem {
                what: "serving key",
                source,
            }
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}
