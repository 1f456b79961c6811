//! Git credentials from a GitRepository's `secretRef`. Pure: takes the Secret's data.
//! Secret values never appear in `Debug` output or errors.

use std::collections::BTreeMap;

/// Transport of a repository URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `http://`
    Http,
    /// `https://`
    Https,
    /// `ssh://`
    Ssh,
    /// `file://` (local extension)
    File,
}

/// Credentials and TLS material for one repository.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AuthOptions {
    /// Basic auth user name.
    pub username: Option<String>,
    /// Basic auth password (or SSH key passphrase).
    pub password: Option<String>,
    /// Bearer token.
    pub bearer_token: Option<String>,
    /// PEM CA bundle (`ca.crt`, legacy `caFile`).
    pub ca: Option<Vec<u8>>,
    /// PEM client certificate (`tls.crt`).
    pub client_cert: Option<Vec<u8>>,
    /// PEM client key (`tls.key`).
    pub client_key: Option<Vec<u8>>,
    /// SSH private key (`identity`).
    pub identity: Option<Vec<u8>>,
    /// SSH known hosts (`known_hosts`).
    pub known_hosts: Option<Vec<u8>>,
}

impl std::fmt::Debug for AuthOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |b: bool| if b { "<set>" } else { "<none>" };
        f.debug_struct("AuthOptions")
            .field("username", &self.username)
            .field("password", &set(self.password.is_some()))
            .field("bearer_token", &set(self.bearer_token.is_some()))
            .field("ca", &set(self.ca.is_some()))
            .field("client_cert", &set(self.client_cert.is_some()))
            .field("identity", &set(self.identity.is_some()))
            .field("known_hosts", &set(self.known_hosts.is_some()))
            .finish()
    }
}

/// Why the secret cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// A key holds bytes that must be UTF-8.
    #[error("invalid '{key}' value in secret '{secret}': not UTF-8")]
    NotUtf8 { secret: String, key: String },
    /// `username` without `password` or the reverse.
    #[error("invalid '{secret}' secret data: '{missing}' is required when '{present}' is set")]
    Incomplete {
        secret: String,
        present: String,
        missing: String,
    },
    /// SSH transport without `identity` or `known_hosts`.
    #[error("invalid '{secret}' secret data for SSH: '{missing}' is required")]
    SshIncomplete { secret: String, missing: String },
    /// `tls.crt` without `tls.key` or the reverse.
    #[error("invalid '{secret}' secret data: 'tls.crt' and 'tls.key' must be set together")]
    ClientCertIncomplete { secret: String },
    /// The SSH identity is encrypted and the secret has no `password`.
    #[error(
        "SSH identity key is encrypted but no 'password' field was provided in the secret '{secret}'"
    )]
    EncryptedIdentity { secret: String },
    /// The SSH identity could not be decrypted with the secret's `password`.
    #[error("unable to decrypt the SSH identity key in secret '{secret}': {reason}")]
    IdentityDecrypt { secret: String, reason: String },
    /// Basic auth and a bearer token together.
    #[error(
        "invalid '{secret}' secret data: 'bearerToken' cannot be used with 'username'/'password'"
    )]
    BearerAndBasic { secret: String },
}

/// Builds the auth options for `transport` from the Secret `secret`'s data.
pub fn auth_options(
    transport: Transport,
    secret: &str,
    data: &BTreeMap<String, Vec<u8>>,
) -> Result<AuthOptions, AuthError> {
    let text = |key: &str| -> Result<Option<String>, AuthError> {
        match data.get(key) {
            None => Ok(None),
            Some(v) => String::from_utf8(v.clone())
                .map(Some)
                .map_err(|_| AuthError::NotUtf8 {
                    secret: secret.to_string(),
                    key: key.to_string(),
                }),
        }
    };
    let mut opts = AuthOptions {
        username: text("username")?,
        password: text("password")?,
        bearer_token: text("bearerToken")?,
        ca: data.get("ca.crt").or_else(|| data.get("caFile")).cloned(),
        client_cert: data.get("tls.crt").cloned(),
        client_key: data.get("tls.key").cloned(),
        identity: data.get("identity").cloned(),
        known_hosts: data.get("known_hosts").cloned(),
    };
    match transport {
        Transport::Ssh => {
            for (key, v) in [
                ("identity", &opts.identity),
                ("known_hosts", &opts.known_hosts),
            ] {
                if v.is_none() {
                    return Err(AuthError::SshIncomplete {
                        secret: secret.to_string(),
                        missing: key.to_string(),
                    });
                }
            }
            if let Some(identity) = &opts.identity {
                opts.identity = Some(usable_identity(secret, identity, opts.password.as_deref())?);
            }
        }
        Transport::Http | Transport::Https | Transport::File => {
            match (&opts.username, &opts.password) {
                (Some(_), None) => {
                    return Err(AuthError::Incomplete {
                        secret: secret.to_string(),
                        present: "username".into(),
                        missing: "password".into(),
                    });
                }
                (None, Some(_)) => {
                    return Err(AuthError::Incomplete {
                        secret: secret.to_string(),
                        present: "password".into(),
                        missing: "username".into(),
                    });
                }
                _ => {}
            }
            if opts.bearer_token.is_some() && opts.username.is_some() {
                return Err(AuthError::BearerAndBasic {
                    secret: secret.to_string(),
                });
            }
            if opts.client_cert.is_some() != opts.client_key.is_some() {
                return Err(AuthError::ClientCertIncomplete {
                    secret: secret.to_string(),
                });
            }
            opts.identity = None;
            opts.known_hosts = None;
        }
    }
    Ok(opts)
}

/// The SSH identity as the ssh client can use it non-interactively: an encrypted
/// OpenSSH key is decrypted with `password` (the ssh client runs in batch mode and
/// cannot ask); other keys are passed on as they are.
fn usable_identity(
    secret: &str,
    identity: &[u8],
    password: Option<&str>,
) -> Result<Vec<u8>, AuthError> {
    let decrypt_err = |reason: String| AuthError::IdentityDecrypt {
        secret: secret.to_string(),
        reason,
    };
    match ssh_key::PrivateKey::from_openssh(identity) {
        Ok(key) if key.is_encrypted() => {
            let Some(password) = password else {
                return Err(AuthError::EncryptedIdentity {
                    secret: secret.to_string(),
                });
            };
            let plain = key
                .decrypt(password)
                .map_err(|e| decrypt_err(e.to_string()))?;
            let text = plain
                .to_openssh(ssh_key::LineEnding::LF)
                .map_err(|e| decrypt_err(e.to_string()))?;
            Ok(text.as_bytes().to_vec())
        }
        Ok(_) => Ok(identity.to_vec()),
        // Legacy PEM keys: usable when not encrypted.
        Err(_) => {
            let text = String::from_utf8_lossy(identity);
            if text.contains("Proc-Type: 4,ENCRYPTED")
                || text.contains("BEGIN ENCRYPTED PRIVATE KEY")
            {
                return match password {
                    None => Err(AuthError::EncryptedIdentity {
                        secret: secret.to_string(),
                    }),
                    Some(_) => Err(decrypt_err(
                        "encrypted PEM keys are not supported, convert the key to the OpenSSH format (ssh-keygen -p -f KEY)".to_string(),
                    )),
                };
            }
            Ok(identity.to_vec())
        }
    }
}

/// Proxy schemes upstream accepts in `proxySecretRef.address`.
pub const SUPPORTED_PROXY_SCHEMES: [&str; 3] = ["http", "https", "socks5"];

/// Longest `address` upstream accepts.
pub const MAX_PROXY_URL_LENGTH: usize = 2048;

/// A proxy from `proxySecretRef` (keys `address`, `username`, `password`). The
/// password never appears in `Debug` output or errors.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyOptions {
    /// The proxy URL without credentials (`http://proxy:3128`).
    pub url: url::Url,
    /// Proxy user name.
    pub username: Option<String>,
    /// Proxy password.
    pub password: Option<String>,
}

impl std::fmt::Debug for ProxyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyOptions")
            .field("url", &self.url.as_str())
            .field("username", &self.username)
            .field(
                "password",
                &if self.password.is_some() {
                    "<set>"
                } else {
                    "<none>"
                },
            )
            .finish()
    }
}

/// Why `proxySecretRef` cannot be used (texts as upstream's `ProxyURLFromSecret`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    /// No `address` key.
    #[error("secret '{secret}': key 'address' not found")]
    NoAddress { secret: String },
    /// `address` is empty.
    #[error("secret '{secret}': proxy address is empty")]
    EmptyAddress { secret: String },
    /// `address` is longer than upstream allows.
    #[error(
        "secret '{secret}': proxy URL exceeds maximum length of {MAX_PROXY_URL_LENGTH} characters"
    )]
    TooLong { secret: String },
    /// `address` is not a URL.
    #[error("secret '{secret}': failed to parse proxy address '{address}': {reason}")]
    Unparsable {
        secret: String,
        address: String,
        reason: String,
    },
    /// `address` has a scheme other than http, https, socks5.
    #[error(
        "secret '{secret}': proxy URL must use one of the supported schemes (http, https, socks5), got '{scheme}'"
    )]
    Scheme { secret: String, scheme: String },
    /// A key holds bytes that must be UTF-8.
    #[error("secret '{secret}': invalid '{key}' value: not UTF-8")]
    NotUtf8 { secret: String, key: String },
}

/// Reads a proxy Secret's data: `address` (required), `username`, `password`
/// (credentials in the address itself are moved out of the URL).
pub fn proxy_options(
    secret: &str,
    data: &BTreeMap<String, Vec<u8>>,
) -> Result<ProxyOptions, ProxyError> {
    let text = |key: &str| -> Result<Option<String>, ProxyError> {
        match data.get(key) {
            None => Ok(None),
            Some(v) => String::from_utf8(v.clone())
                .map(Some)
                .map_err(|_| ProxyError::NotUtf8 {
                    secret: secret.to_string(),
                    key: key.to_string(),
                }),
        }
    };
    let address = text("address")?.ok_or_else(|| ProxyError::NoAddress {
        secret: secret.to_string(),
    })?;
    if address.is_empty() {
        return Err(ProxyError::EmptyAddress {
            secret: secret.to_string(),
        });
    }
    if address.len() > MAX_PROXY_URL_LENGTH {
        return Err(ProxyError::TooLong {
            secret: secret.to_string(),
        });
    }
    let mut url = url::Url::parse(&address).map_err(|e| ProxyError::Unparsable {
        secret: secret.to_string(),
        // The address may carry credentials: never echo them.
        address: redact_url_text(&address),
        reason: e.to_string(),
    })?;
    if !SUPPORTED_PROXY_SCHEMES.contains(&url.scheme()) {
        return Err(ProxyError::Scheme {
            secret: secret.to_string(),
            scheme: url.scheme().to_string(),
        });
    }
    let mut username = (!url.username().is_empty()).then(|| url.username().to_string());
    let mut password = url.password().map(str::to_string);
    let _ = url.set_username("");
    let _ = url.set_password(None);
    if let Some(u) = text("username")? {
        username = Some(u);
        password = text("password")?;
    }
    Ok(ProxyOptions {
        url,
        username,
        password,
    })
}

/// `scheme://user:***@host…` → `scheme://host…` for messages.
fn redact_url_text(address: &str) -> String {
    match address.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((_, host)) => format!("{scheme}://{host}"),
            None => address.to_string(),
        },
        None => match address.rsplit_once('@') {
            Some((_, host)) => host.to_string(),
            None => address.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn basic_auth_needs_both_fields_and_hides_secrets() {
        let ok = auth_options(
            Transport::Https,
            "s",
            &data(&[("username", "u"), ("password", "hunter2")]),
        );
        let ok = ok.unwrap_or_default();
        assert_eq!(ok.username.as_deref(), Some("u"));
        assert!(!format!("{ok:?}").contains("hunter2"));
        let err = auth_options(Transport::Https, "s", &data(&[("username", "u")]));
        assert!(matches!(err, Err(AuthError::Incomplete { .. })));
    }

    #[test]
    fn ssh_needs_identity_and_known_hosts() {
        let err = auth_options(Transport::Ssh, "s", &data(&[("identity", "k")]));
        assert_eq!(
            err,
            Err(AuthError::SshIncomplete {
                secret: "s".into(),
                missing: "known_hosts".into()
            })
        );
    }

    #[test]
    fn proxy_secret_is_checked_as_upstream() {
        let ok = proxy_options(
            "ns/p",
            &data(&[
                ("address", "http://127.0.0.1:3128"),
                ("username", "u"),
                ("password", "proxy-pass"),
            ]),
        );
        let ok = ok.ok().unwrap_or_else(|| panic!("valid proxy secret"));
        assert_eq!(ok.url.as_str(), "http://127.0.0.1:3128/");
        assert_eq!(ok.username.as_deref(), Some("u"));
        assert!(!format!("{ok:?}").contains("proxy-pass"));
        assert_eq!(
            proxy_options("ns/p", &data(&[("username", "u")])).map_err(|e| e.to_string()),
            Err("secret 'ns/p': key 'address' not found".to_string())
        );
        assert_eq!(
            proxy_options("ns/p", &data(&[("address", "ftp://x")])).map_err(|e| e.to_string()),
            Err("secret 'ns/p': proxy URL must use one of the supported schemes (http, https, socks5), got 'ftp'".to_string())
        );
        assert!(matches!(
            proxy_options("ns/p", &data(&[("address", "")])),
            Err(ProxyError::EmptyAddress { .. })
        ));
        let err = proxy_options("ns/p", &data(&[("address", "http://u:leaked@[::1")]))
            .map_err(|e| e.to_string());
        assert!(
            err.as_ref().is_err_and(|e| !e.contains("leaked")),
            "{err:?}"
        );
        let inline = proxy_options("ns/p", &data(&[("address", "http://a:b@proxy:8080")]));
        assert_eq!(
            inline.map(|p| (p.url.to_string(), p.username, p.password)),
            Ok((
                "http://proxy:8080/".to_string(),
                Some("a".to_string()),
                Some("b".to_string())
            ))
        );
    }
}
