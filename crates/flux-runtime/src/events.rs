//! The event recorder: core/v1 Events with Flux's annotations, and an optional HTTP
//! forwarder to notification-controller (`--events-addr`) in Flux's event payload format.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use kube::api::PostParams;
use kube::{Api, Client, Resource, ResourceExt};
use serde::Serialize;

/// Annotations on a Flux object whose keys start with this are copied into the event
/// metadata (e.g. `event.toolkit.fluxcd.io/change_request`).
pub const EVENT_ANNOTATION_PREFIX: &str = "event.toolkit.fluxcd.io/";

/// Longest message forwarded (Flux's limit).
pub const MAX_MESSAGE_LEN: usize = 39_000;

/// Event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// `Normal` (severity `info`).
    Normal,
    /// `Warning` (severity `error`).
    Warning,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "Normal",
            Self::Warning => "Warning",
        }
    }
    fn severity(self) -> &'static str {
        match self {
            Self::Normal => "info",
            Self::Warning => "error",
        }
    }
}

/// The payload POSTed to `--events-addr` (`event.toolkit.fluxcd.io` Event).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ForwardedEvent {
    /// The Flux object.
    pub involved_object: ObjectReference,
    /// `info` or `error`.
    pub severity: String,
    /// RFC 3339.
    pub timestamp: String,
    /// At most [`MAX_MESSAGE_LEN`] characters.
    pub message: String,
    /// The reason, e.g. `NewArtifact`.
    pub reason: String,
    /// `<group>/revision` etc. plus `event.toolkit.fluxcd.io/` annotations.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// E.g. `source-controller`.
    pub reporting_controller: String,
    /// The host name of this process.
    pub reporting_instance: String,
}

/// Records events for Flux objects.
#[derive(Clone)]
pub struct EventRecorder {
    client: Client,
    controller: String,
    instance: String,
    events_addr: Option<String>,
    http: Option<reqwest::Client>,
}

impl std::fmt::Debug for EventRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventRecorder")
            .field("controller", &self.controller)
            .field("events_addr", &self.events_addr)
            .finish()
    }
}

impl EventRecorder {
    /// A recorder for `controller` writing Events through `client`, forwarding to
    /// `events_addr` when set.
    pub fn new(client: Client, controller: &str, events_addr: Option<&str>) -> Self {
        let events_addr = events_addr.filter(|a| !a.is_empty()).map(str::to_string);
        let http = events_addr.as_ref().and_then(|_| {
            crate::install_crypto_provider();
            reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .map_err(|e| tracing::error!(error = %e, "building the event forwarder failed"))
                .ok()
        });
        let instance = std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| controller.to_string());
        Self {
            client,
            controller: controller.to_string(),
            instance,
            events_addr,
            http,
        }
    }

    /// Builds the forwarded payload (pure; exposed for tests).
    pub fn payload<K: Resource<DynamicType = ()>>(
        &self,
        obj: &K,
        event_type: EventType,
        reason: &str,
        message: &str,
        metadata: &BTreeMap<String, String>,
    ) -> ForwardedEvent {
        let group = K::group(&());
        let mut meta: BTreeMap<String, String> = metadata
            .iter()
            .map(|(k, v)| (qualify(&group, k), v.clone()))
            .collect();
        if let Some(annotations) = obj.meta().annotations.as_ref() {
            for (k, v) in annotations {
                if k.starts_with(EVENT_ANNOTATION_PREFIX) {
                    meta.insert(k.clone(), v.clone());
                }
            }
        }
        ForwardedEvent {
            involved_object: object_reference(obj),
            severity: event_type.severity().to_string(),
            timestamp: jiff::Timestamp::now()
                .round(jiff::Unit::Second)
                .unwrap_or_else(|_| jiff::Timestamp::now())
                .to_string(),
            message: truncate(message, MAX_MESSAGE_LEN),
            reason: reason.to_string(),
            metadata: meta,
            reporting_controller: self.controller.clone(),
            reporting_instance: self.instance.clone(),
        }
    }

    /// Records an event: a core/v1 Event in the object's namespace (annotations = the
    /// metadata with keys qualified by the object's API group), then forwards it to
    /// `--events-addr` when configured. Failures are logged, never returned: events are
    /// best effort, as upstream.
    pub async fn record<K: Resource<DynamicType = ()>>(
        &self,
        obj: &K,
        event_type: EventType,
        reason: &str,
        message: &str,
        metadata: &BTreeMap<String, String>,
    ) {
        let payload = self.payload(obj, event_type, reason, message, metadata);
        let namespace = obj.namespace().unwrap_or_else(|| "default".to_string());
        let now = jiff::Timestamp::now();
        let event = Event {
            metadata: ObjectMeta {
                name: Some(format!(
                    "{}.{:x}",
                    obj.name_any(),
                    now.as_nanosecond().unsigned_abs()
                )),
                namespace: Some(namespace.clone()),
                annotations: (!payload.metadata.is_empty()).then(|| payload.metadata.clone()),
                ..ObjectMeta::default()
            },
            involved_object: payload.involved_object.clone(),
            reason: Some(reason.to_string()),
            message: Some(payload.message.clone()),
            type_: Some(event_type.as_str().to_string()),
            count: Some(1),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            event_time: Some(MicroTime(now)),
            action: Some(reason.to_string()),
            reporting_component: Some(self.controller.clone()),
            reporting_instance: Some(self.instance.clone()),
            source: Some(EventSource {
                component: Some(self.controller.clone()),
                host: None,
            }),
            ..Event::default()
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        if let Err(e) = api.create(&PostParams::default(), &event).await {
            tracing::warn!(error = %e, reason, "recording a Kubernetes event failed");
        }
        self.forward(&payload).await;
    }

    async fn forward(&self, payload: &ForwardedEvent) {
        let (Some(addr), Some(http)) = (self.events_addr.as_deref(), self.http.as_ref()) else {
            return;
        };
        for attempt in 0..3u32 {
            match http.post(addr).json(payload).send().await {
                Ok(resp) if resp.status().is_success() => return,
                // 429: notification-controller saw a duplicate; do not retry.
                Ok(resp) if resp.status().as_u16() == 429 => return,
                Ok(resp) => {
                    tracing::warn!(status = %resp.status(), attempt, "event forwarding refused")
                }
                Err(e) => tracing::warn!(error = %e, attempt, "event forwarding failed"),
            }
            tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
        }
    }
}

fn qualify(group: &str, key: &str) -> String {
    if key.contains('/') || group.is_empty() {
        key.to_string()
    } else {
        format!("{group}/{key}")
    }
}

fn truncate(message: &str, max: usize) -> String {
    if message.chars().count() <= max {
        return message.to_string();
    }
    message.chars().take(max).collect()
}

/// The object reference of a Flux object (kind, namespace, name, uid, apiVersion,
/// resourceVersion).
pub fn object_reference<K: Resource<DynamicType = ()>>(obj: &K) -> ObjectReference {
    ObjectReference {
        api_version: Some(K::api_version(&()).into_owned()),
        kind: Some(K::kind(&()).into_owned()),
        name: obj.meta().name.clone(),
        namespace: obj.meta().namespace.clone(),
        uid: obj.meta().uid.clone(),
        resource_version: obj.meta().resource_version.clone(),
        field_path: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualifies_short_keys_only() {
        assert_eq!(
            qualify("source.toolkit.fluxcd.io", "revision"),
            "source.toolkit.fluxcd.io/revision"
        );
        assert_eq!(qualify("g", "a/b"), "a/b");
    }

    #[test]
    fn truncates_long_messages() {
        assert_eq!(truncate("abcdef", 3), "abc");
        assert_eq!(truncate("ab", 3), "ab");
    }
}
