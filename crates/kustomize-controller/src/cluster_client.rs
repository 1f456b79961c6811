//! The client a Kustomization writes through: the controller's own cluster or the remote
//! cluster of `spec.kubeConfig.secretRef`, impersonating `spec.serviceAccountName` (or
//! `--default-service-account`) as `system:serviceaccount:<namespace>:<name>`.
//!
//! Impersonation wraps any `kube::Client` (also the in-process one of the embedded API
//! server) in a service adding the `Impersonate-User` header, so it needs no
//! `kube::Config`.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use http::{HeaderValue, Request, Response};
use k8s_openapi::api::core::v1::Secret;
use kube::client::Body;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};

/// The keys a kubeconfig Secret is read from when `secretRef.key` is empty, in order.
pub const KUBECONFIG_KEYS: [&str; 2] = ["value", "value.yaml"];

/// The user name Kubernetes gives service account `name` of `namespace`.
pub fn service_account_user(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// Why no client could be made for a Kustomization's target.
#[derive(Debug, thiserror::Error)]
pub enum ClusterClientError {
    /// The kubeconfig Secret could not be read.
    #[error("unable to read KubeConfig secret '{secret}': {source}")]
    ReadSecret {
        /// `namespace/name`.
        secret: String,
        #[source]
        source: kube::Error,
    },
    /// The kubeconfig Secret does not exist.
    #[error("KubeConfig secret '{secret}' not found")]
    SecretNotFound {
        /// `namespace/name`.
        secret: String,
    },
    /// The Secret has none of the keys.
    #[error("KubeConfig secret '{secret}' does not contain a '{keys}' key with a kubeconfig")]
    MissingKey {
        /// `namespace/name`.
        secret: String,
        /// The keys tried.
        keys: String,
    },
    /// The kubeconfig does not parse.
    #[error("KubeConfig secret '{secret}' key '{key}': invalid kubeconfig: {source}")]
    Parse {
        /// `namespace/name`.
        secret: String,
        /// The key read.
        key: String,
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// The kubeconfig uses something that would run a program or read the controller's
    /// files.
    #[error(
        "KubeConfig secret '{secret}' key '{key}': {field} is not allowed in a kubeconfig read from a Secret"
    )]
    Forbidden {
        /// `namespace/name`.
        secret: String,
        /// The key read.
        key: String,
        /// The refused field, e.g. `users[0].user.exec`.
        field: String,
    },
    /// No client could be built from the kubeconfig.
    #[error("KubeConfig secret '{secret}' key '{key}': {source}")]
    Client {
        /// `namespace/name`.
        secret: String,
        /// The key read.
        key: String,
        #[source]
        source: kube::Error,
    },
    /// The service account name cannot be put in a header.
    #[error("invalid service account name '{user}'")]
    InvalidUser {
        /// The user name.
        user: String,
    },
}

/// A tower service sending every request through `inner` as `user`.
#[derive(Clone)]
struct Impersonating {
    inner: Client,
    user: HeaderValue,
}

impl tower::Service<Request<Body>> for Impersonating {
    type Response = Response<Body>;
    type Error = kube::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, kube::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        request
            .headers_mut()
            .insert("impersonate-user", self.user.clone());
        let inner = self.inner.clone();
        Box::pin(async move { inner.send(request).await })
    }
}

/// `client` acting as `user` (an `Impersonate-User` header on every request).
pub fn impersonating(client: &Client, user: &str) -> Result<Client, ClusterClientError> {
    let header = HeaderValue::from_str(user).map_err(|_| ClusterClientError::InvalidUser {
        user: user.to_string(),
    })?;
    Ok(Client::new(
        Impersonating {
            inner: client.clone(),
            user: header,
        },
        client.default_namespace().to_string(),
    ))
}

/// Refuses kubeconfig features that would run programs or read local files.
fn check_kubeconfig(kubeconfig: &Kubeconfig) -> Result<(), String> {
    for (i, named) in kubeconfig.auth_infos.iter().enumerate() {
        let Some(user) = &named.auth_info else {
            continue;
        };
        let refused = [
            ("exec", user.exec.is_some()),
            ("auth-provider", user.auth_provider.is_some()),
            ("tokenFile", user.token_file.is_some()),
            ("client-certificate", user.client_certificate.is_some()),
            ("client-key", user.client_key.is_some()),
        ];
        if let Some((field, _)) = refused.iter().find(|(_, set)| *set) {
            return Err(format!("users[{i}].user.{field}"));
        }
    }
    for (i, named) in kubeconfig.clusters.iter().enumerate() {
        if named
            .cluster
            .as_ref()
            .is_some_and(|c| c.certificate_authority.is_some())
        {
            return Err(format!("clusters[{i}].cluster.certificate-authority"));
        }
    }
    Ok(())
}

/// A kubeconfig Secret's namespace, name and key.
type SecretKey = (String, String, String);

/// Clients of remote clusters, by Secret key, with the Secret's resourceVersion.
#[derive(Default)]
pub struct RemoteClients {
    cached: Mutex<HashMap<SecretKey, (String, Client)>>,
}

impl std::fmt::Debug for RemoteClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteClients").finish_non_exhaustive()
    }
}

impl RemoteClients {
    /// The client of the cluster in the kubeconfig Secret `name` (key `key`, or `value` /
    /// `value.yaml`) of `namespace`, read with `client`.
    pub async fn client_for(
        &self,
        client: &Client,
        namespace: &str,
        name: &str,
        key: Option<&str>,
    ) -> Result<Client, ClusterClientError> {
        let secret_id = format!("{namespace}/{name}");
        let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
        let secret = secrets
            .get_opt(name)
            .await
            .map_err(|source| ClusterClientError::ReadSecret {
                secret: secret_id.clone(),
                source,
            })?
            .ok_or_else(|| ClusterClientError::SecretNotFound {
                secret: secret_id.clone(),
            })?;
        let mut data: std::collections::BTreeMap<String, Vec<u8>> = secret
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect();
        // stringData, in case the API server stored it as written.
        for (k, v) in secret.string_data.unwrap_or_default() {
            data.entry(k).or_insert_with(|| v.into_bytes());
        }
        let keys: Vec<&str> = match key.filter(|k| !k.is_empty()) {
            Some(k) => vec![k],
            None => KUBECONFIG_KEYS.to_vec(),
        };
        let Some((key, bytes)) = keys
            .iter()
            .find_map(|k| data.get(*k).map(|v| (k.to_string(), v.clone())))
        else {
            return Err(ClusterClientError::MissingKey {
                secret: secret_id,
                keys: keys.join("' or '"),
            });
        };
        let version = secret.metadata.resource_version.unwrap_or_default();
        let cache_key = (namespace.to_string(), name.to_string(), key.clone());
        if let Ok(cached) = self.cached.lock()
            && let Some((cached_version, client)) = cached.get(&cache_key)
            && *cached_version == version
        {
            return Ok(client.clone());
        }
        let text = String::from_utf8_lossy(&bytes);
        let kubeconfig =
            Kubeconfig::from_yaml(&text).map_err(|source| ClusterClientError::Parse {
                secret: secret_id.clone(),
                key: key.clone(),
                source,
            })?;
        check_kubeconfig(&kubeconfig).map_err(|field| ClusterClientError::Forbidden {
            secret: secret_id.clone(),
            key: key.clone(),
            field,
        })?;
        let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .map_err(|source| ClusterClientError::Parse {
                secret: secret_id.clone(),
                key: key.clone(),
                source,
            })?;
        let remote = Client::try_from(config).map_err(|source| ClusterClientError::Client {
            secret: secret_id,
            key: key.clone(),
            source,
        })?;
        if let Ok(mut cached) = self.cached.lock() {
            cached.insert(cache_key, (version, remote.clone()));
        }
        Ok(remote)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_account_user_name() {
        assert_eq!(
            service_account_user("tenant", "deployer"),
            "system:serviceaccount:tenant:deployer"
        );
    }

    #[test]
    fn refuses_exec_and_files() {
        let exec = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://x'}\nusers:\n- name: u\n  user:\n    exec: {command: /bin/sh, apiVersion: client.authentication.k8s.io/v1}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\n";
        let parsed = Kubeconfig::from_yaml(exec).map_err(|e| e.to_string());
        assert_eq!(
            parsed.and_then(|k| check_kubeconfig(&k)),
            Err("users[0].user.exec".to_string())
        );
        let ca_file = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://x', certificate-authority: /etc/ca.pem}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\n";
        let parsed = Kubeconfig::from_yaml(ca_file).map_err(|e| e.to_string());
        assert_eq!(
            parsed.and_then(|k| check_kubeconfig(&k)),
            Err("clusters[0].cluster.certificate-authority".to_string())
        );
    }
}
