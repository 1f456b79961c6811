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
}
