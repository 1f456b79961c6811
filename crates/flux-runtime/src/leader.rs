//! Leader election on a coordination.k8s.io/v1 Lease (optimistic updates with
//! resourceVersion, like client-go's LeaseLock): `--enable-leader-election`,
//! `--leader-election-lease-duration` (35s), `--leader-election-renew-deadline` (30s),
//! `--leader-election-retry-period` (5s), release on cancel.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};

/// Leader election settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderElectionOptions {
    /// Lease name, e.g. `source-controller-leader-election`.
    pub lease_name: String,
    /// Namespace of the Lease (the controller's namespace).
    pub namespace: String,
    /// This process's identity (pod name + random suffix upstream).
    pub identity: String,
    /// How long a lease is valid without renewal.
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before giving up.
    pub renew_deadline: Duration,
    /// Pause between attempts.
    pub retry_period: Duration,
}

impl LeaderElectionOptions {
    /// Upstream's defaults for `controller` (`<controller>-leader-election`).
    pub fn new(controller: &str, namespace: &str, identity: &str) -> Self {
        Self {
            lease_name: format!("{controller}-leader-election"),
            namespace: namespace.to_string(),
            identity: identity.to_string(),
            lease_duration: Duration::from_secs(35),
            renew_deadline: Duration::from_secs(30),
            retry_period: Duration::from_secs(5),
        }
    }
}

/// Why a Lease operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Reading, creating or updating the Lease failed.
    #[error("{step} lease {namespace}/{name}")]
    Api {
        step: &'static str,
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    /// The leader could not renew within the renew deadline.
    #[error("leader election lost: lease {namespace}/{name} not renewed within {deadline:?}")]
    Lost {
        namespace: String,
        name: String,
        deadline: Duration,
    },
}

/// What to do with a Lease as found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseDecision {
    /// Nobody holds it (or the holder expired): take it (a new transition).
    Acquire,
    /// We hold it: renew.
    Renew,
    /// Someone else holds a valid lease.
    Wait,
}

/// Pure decision over a Lease spec at `now` (microseconds since the epoch).
pub fn decide(spec: Option<&LeaseSpec>, identity: &str, now: jiff::Timestamp) -> LeaseDecision {
    let Some(spec) = spec else {
        return LeaseDecision::Acquire;
    };
    match spec.holder_identity.as_deref() {
        Some(h) if h == identity => LeaseDecision::Renew,
        None | Some("") => LeaseDecision::Acquire,
        Some(_) => {
            let renewed = spec.renew_time.as_ref().map(|t| t.0);
            let duration = spec.lease_duration_seconds.unwrap_or(0).max(0);
            match renewed {
                Some(t) if t + jiff::SignedDuration::from_secs(i64::from(duration)) > now => {
                    LeaseDecision::Wait
                }
                _ => LeaseDecision::Acquire,
            }
        }
    }
}

/// A leader elector for one Lease.
#[derive(Clone)]
pub struct LeaderElector {
    api: Api<Lease>,
    options: LeaderElectionOptions,
}

impl std::fmt::Debug for LeaderElector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaderElector")
            .field("options", &self.options)
            .finish()
    }
}

impl LeaderElector {
    /// An elector using `client`.
    pub fn new(client: Client, options: LeaderElectionOptions) -> Self {
        Self {
            api: Api::namespaced(client, &options.namespace),
            options,
        }
    }

    fn err(&self, step: &'static str, source: kube::Error) -> LeaseError {
        LeaseError::Api {
            step,
            namespace: self.options.namespace.clone(),
            name: self.options.lease_name.clone(),
            source,
        }
    }

    /// One attempt: acquires or renews the Lease; returns whether we hold it.
    pub async fn try_acquire_or_renew(&self) -> Result<bool, LeaseError> {
        let now = jiff::Timestamp::now();
        let duration = i32::try_from(self.options.lease_duration.as_secs()).unwrap_or(i32::MAX);
        let existing = self
            .api
            .get_opt(&self.options.lease_name)
            .await
            .map_err(|e| self.err("reading", e))?;
        let Some(mut lease) = existing else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.options.lease_name.clone()),
                    namespace: Some(self.options.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.options.identity.clone()),
                    lease_duration_seconds: Some(duration),
                    acquire_time: Some(MicroTime(now)),
                    renew_time: Some(MicroTime(now)),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(self.err("creating", e)),
            };
        };
        let decision = decide(lease.spec.as_ref(), &self.options.identity, now);
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        match decision {
            LeaseDecision::Wait => return Ok(false),
            LeaseDecision::Renew => {
                spec.renew_time = Some(MicroTime(now));
                spec.lease_duration_seconds = Some(duration);
            }
            LeaseDecision::Acquire => {
                spec.holder_identity = Some(self.options.identity.clone());
                spec.acquire_time = Some(MicroTime(now));
                spec.renew_time = Some(MicroTime(now));
                spec.lease_duration_seconds = Some(duration);
                spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
            }
        }
        match self
            .api
            .replace(&self.options.lease_name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(true),
            // Someone else wrote first: not ours this round.
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(self.err("updating", e)),
        }
    }

    /// Waits until this process holds the Lease (retrying every retry period).
    pub async fn acquire(&self) {
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => return,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "leader election attempt failed"),
            }
            tokio::time::sleep(self.options.retry_period).await;
        }
    }

    /// Keeps renewing; returns [`LeaseError::Lost`] when a renewal did not succeed within
    /// the renew deadline (the caller must stop its controllers, as upstream exits).
    pub async fn hold(&self) -> LeaseError {
        let mut last_renewed = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(self.options.retry_period).await;
            match self.try_acquire_or_renew().await {
                Ok(true) => last_renewed = tokio::time::Instant::now(),
                Ok(false) => {
                    return LeaseError::Lost {
                        namespace: self.options.namespace.clone(),
                        name: self.options.lease_name.clone(),
                        deadline: self.options.renew_deadline,
                    };
                }
                Err(e) => tracing::warn!(error = %e, "lease renewal failed"),
            }
            if last_renewed.elapsed() > self.options.renew_deadline {
                return LeaseError::Lost {
                    namespace: self.options.namespace.clone(),
                    name: self.options.lease_name.clone(),
                    deadline: self.options.renew_deadline,
                };
            }
        }
    }

    /// Gives the Lease up (`--leader-election-release-on-cancel`): clears the holder.
    pub async fn release(&self) -> Result<(), LeaseError> {
        let Some(mut lease) = self
            .api
            .get_opt(&self.options.lease_name)
            .await
            .map_err(|e| self.err("reading", e))?
        else {
            return Ok(());
        };
        let Some(spec) = lease.spec.as_mut() else {
            return Ok(());
        };
        if spec.holder_identity.as_deref() != Some(self.options.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        self.api
            .replace(&self.options.lease_name, &PostParams::default(), &lease)
            .await
            .map(|_| ())
            .map_err(|e| self.err("releasing", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(holder: Option<&str>, renewed_secs_ago: i64, duration: i32) -> LeaseSpec {
        let now = jiff::Timestamp::now();
        LeaseSpec {
            holder_identity: holder.map(str::to_string),
            renew_time: Some(MicroTime(
                now - jiff::SignedDuration::from_secs(renewed_secs_ago),
            )),
            lease_duration_seconds: Some(duration),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn decisions() {
        let now = jiff::Timestamp::now();
        assert_eq!(decide(None, "me", now), LeaseDecision::Acquire);
        assert_eq!(
            decide(Some(&spec(Some("me"), 1, 35)), "me", now),
            LeaseDecision::Renew
        );
        assert_eq!(
            decide(Some(&spec(Some("other"), 1, 35)), "me", now),
            LeaseDecision::Wait
        );
        assert_eq!(
            decide(Some(&spec(Some("other"), 60, 35)), "me", now),
            LeaseDecision::Acquire
        );
        assert_eq!(
            decide(Some(&spec(None, 1, 35)), "me", now),
            LeaseDecision::Acquire
        );
    }
}
